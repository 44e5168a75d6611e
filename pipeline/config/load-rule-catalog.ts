import { RuleCatalogFile } from '../../schemas/rule-catalog.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { parseConfigFile } from './parse-config-file.ts';

/** The built-in catalog with a file's rules overriding (same name) or extending it. */
export async function loadRuleCatalog(path: string | undefined): Promise<RuleCatalog> {
  const builtIn = RuleCatalog.builtIn();
  if (!path) return builtIn;
  const file = await parseConfigFile(RuleCatalogFile, path, 'rule catalog');
  return builtIn.extendedBy(file);
}
