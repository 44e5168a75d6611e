import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Firehose names S3 objects `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<id>`: the time its buffer was flushed. */
const FirehoseObjectTime = /-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[^/]*$/;

export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
}

/**
 * The files `replay --file` reads: the file itself, or every file under a directory (an `aws s3 sync` of the
 * archive prefix) in time order: by the flush time in Firehose's object name, else by modification time; the path
 * breaks ties. Hidden files are skipped.
 */
export async function listReplayFiles(path: string): Promise<string[]> {
  if (path === '-') return ['-'];
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new ReplayInputError(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  if (!info.isDirectory()) return [path];
  const names = await readdir(path, { recursive: true });
  const files: { path: string; time: number }[] = [];
  for (const name of names) {
    if (name.split(/[\\/]/).some((part) => part.startsWith('.'))) continue;
    const full = join(path, name);
    const entry = await stat(full);
    if (!entry.isFile()) continue;
    files.push({ path: full, time: objectTime(relative(path, full)) ?? entry.mtimeMs });
  }
  if (files.length === 0) throw new ReplayInputError(`no files to replay under ${path}`);
  files.sort((a, b) => a.time - b.time || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files.map((file) => file.path);
}

function objectTime(name: string): number | null {
  const match = FirehoseObjectTime.exec(name);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(time) ? null : time;
}
