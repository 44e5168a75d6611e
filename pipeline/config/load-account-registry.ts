import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { loadAccountFile } from './load-account-file.ts';

/** The DRIFTWATCH_ACCOUNTS file as a registry, or an empty one (defaults only) when unset. */
export async function loadAccountRegistry(path: string | undefined): Promise<AccountRegistry> {
  return new AccountRegistry(await loadAccountFile(path));
}
