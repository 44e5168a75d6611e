import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import { parseConfigFile } from './parse-config-file.ts';

/** The DRIFTWATCH_ACCOUNTS file, or an empty registry (defaults only) when unset. */
export async function loadAccountFile(path: string | undefined): Promise<AccountRegistryFile> {
  return path ? parseConfigFile(AccountRegistryFile, path, 'account registry') : AccountRegistryFile.parse({});
}
