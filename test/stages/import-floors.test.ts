import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const stagesDir = join(root, 'stages');
const schemasDir = join(root, 'schemas');
// Pure computation only: no file, network or process IO in a stage.
const AllowedPackages = new Set(['zod', 'luxon', 'node:buffer', 'node:crypto']);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  // Declarations of third-party modules (kinesalite.d.ts) describe a package, they are not a floor's code.
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')).map((entry) => join(entry.parentPath, entry.name));
}

/** Every module specifier of a file: static imports, re-exports and dynamic imports. */
function specifiersOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

/** Imports of the files under `dir` that leave the allowed folders or name a package not allowed. */
async function offendingImports(dir: string, allowedDirs: readonly string[], allowedPackages: ReadonlySet<string>): Promise<{ scanned: number; offending: string[] }> {
  const offending: string[] = [];
  let scanned = 0;
  for (const file of await sourceFiles(dir)) {
    const specifiers = specifiersOf(await readFile(file, 'utf8'));
    scanned += specifiers.length;
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (!allowedDirs.some((allowed) => target === allowed || target.startsWith(`${allowed}/`))) offending.push(`${relative(root, file)} -> ${specifier}`);
      } else if (!allowedPackages.has(specifier)) {
        offending.push(`${relative(root, file)} -> ${specifier}`);
      }
    }
  }
  return { scanned, offending };
}

describe('import floors (issue 10)', () => {
  it('stages/ imports only schemas/, its own files and pure packages: no pipeline code, no file IO', async () => {
    const { scanned, offending } = await offendingImports(stagesDir, [stagesDir, schemasDir], AllowedPackages);
    expect(scanned).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  it('pipeline/types (contracts every floor uses) imports nothing but schemas/ and stages/ types', async () => {
    const typesDir = join(root, 'pipeline', 'types');
    const { offending } = await offendingImports(typesDir, [typesDir, schemasDir, stagesDir], new Set());
    expect((await sourceFiles(typesDir)).length).toBeGreaterThanOrEqual(3);
    expect(offending).toEqual([]);
  });

  it('the scan recognises the import forms it must refuse', () => {
    const source = "import { readFile } from 'node:fs/promises';\nimport type { X } from '../../pipeline/x.ts';\nexport { Y } from './y.ts';\nconst m = await import('../../pipeline/z.ts');";
    expect(specifiersOf(source)).toEqual(['node:fs/promises', '../../pipeline/x.ts', './y.ts', '../../pipeline/z.ts']);
  });
});
