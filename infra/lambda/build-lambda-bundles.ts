import { stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const Root = fileURLToPath(new URL('../..', import.meta.url));

/** The Lambda functions: entry file -> `<outDir>/<name>/index.mjs` (the CDK app references exactly these paths). */
export const LambdaEntries: Readonly<Record<string, string>> = {
  'kinesis-handler': 'pipeline/lambda/kinesis-handler.ts',
  'outbox-handler': 'pipeline/lambda/outbox-handler.ts',
};

export interface LambdaBundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
}

/**
 * Bundles each handler into one ESM file for the nodejs24.x runtime (Node 20 runs it too), the AWS SDK included so
 * the deployed code runs the versions pinned in the lock file, not the runtime's.
 *
 * Left out: the embedded database (PGlite, WASM; Lambda requires DATABASE_URL) and pg's optional native binding.
 * The banner gives the CommonJS dependencies (pg, pino) the `require` an ES module lacks.
 */
export async function buildLambdaBundles(outDir: string): Promise<LambdaBundle[]> {
  const bundles: LambdaBundle[] = [];
  for (const [name, entry] of Object.entries(LambdaEntries)) {
    const file = join(outDir, name, 'index.mjs');
    await build({
      entryPoints: [join(Root, entry)],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      minify: true,
      sourcemap: 'external',
      legalComments: 'none',
      logLevel: 'error',
      external: ['@electric-sql/pglite', 'kysely-pglite-dialect', 'pg-native'],
      banner: { js: "import { createRequire as __driftwatchRequire } from 'node:module'; const require = __driftwatchRequire(import.meta.url);" },
    });
    bundles.push({ name, file, bytes: (await stat(file)).size });
  }
  return bundles;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = join(Root, 'dist/lambda');
  const started = performance.now();
  const bundles = await buildLambdaBundles(outDir);
  process.stdout.write(`Built ${bundles.length} Lambda bundles in ${Math.round(performance.now() - started)} ms:\n`);
  for (const b of bundles) process.stdout.write(`  ${relative(Root, b.file).padEnd(40)} ${(b.bytes / 1_048_576).toFixed(2)} MiB\n`);
}
