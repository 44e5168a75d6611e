import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ConfigFileError } from '../../schemas/config-file-error.ts';

/**
 * Reads a YAML or JSON configuration file; failures name the file and what is wrong, in one line. YAML warnings (an
 * unknown tag such as `!Ref`) are errors here: the value would silently be a plain string, and the yaml library would
 * print a multi-line warning of its own and carry on.
 */
export async function readConfigFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(`cannot read ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const document = parseDocument(text, { prettyErrors: true, logLevel: 'silent' });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new ConfigFileError(`${what} file ${path} is not valid YAML/JSON: ${problem.message.split('\n')[0]}`, { cause: problem });
  return document.toJS({ maxAliasCount: 100 });
}
