import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AssetPaths } from './views/layout.ts';

export interface Asset {
  readonly body: string;
  readonly type: string;
}

/**
 * The console's static files, read once at start and served by driftwatch itself (consoles run in closed networks:
 * no CDN). uPlot comes from its npm package; the console's own script and styles from ./assets.
 */
export class ConsoleAssets {
  readonly #files: ReadonlyMap<string, Asset>;
  readonly paths: AssetPaths;

  private constructor(files: ReadonlyMap<string, Asset>) {
    this.#files = files;
    const versioned = (name: string) => `/assets/${name}?v=${createHash('sha256').update(files.get(name)!.body).digest('hex').slice(0, 12)}`;
    this.paths = {
      consoleCss: versioned('console.css'),
      consoleJs: versioned('console.js'),
      uplotCss: versioned('uPlot.min.css'),
      uplotJs: versioned('uPlot.iife.min.js'),
    };
  }

  static async load(): Promise<ConsoleAssets> {
    const require = createRequire(import.meta.url);
    const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
    const sources: [string, string, string][] = [
      ['console.css', own('console.css'), 'text/css; charset=utf-8'],
      ['console.js', own('console.js'), 'text/javascript; charset=utf-8'],
      ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
      ['uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ];
    const files = new Map<string, Asset>();
    for (const [name, path, type] of sources) files.set(name, { body: await readFile(path, 'utf8'), type });
    return new ConsoleAssets(files);
  }

  get(name: string): Asset | undefined {
    return this.#files.get(name);
  }
}
