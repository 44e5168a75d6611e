import type { z } from 'zod';
import { describeIssues } from '../../schemas/describe-issues.ts';
import { readConfigFile } from './read-config-file.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';

/** Reads and validates a YAML/JSON file against a schema, with a one-line error naming the file and the field. */
export async function parseConfigFile<S extends z.ZodType>(schema: S, path: string, what: string): Promise<z.infer<S>> {
  const data = await readConfigFile(path, what);
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new ConfigFileError(`${what} file ${path} is invalid: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}
