import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface CpuProfileSummary {
  /** Sampled time, idle excluded. */
  readonly sampledMs: number;
  readonly idleMs: number;
  readonly top: readonly { readonly functionName: string; readonly location: string; readonly selfMs: number; readonly share: number }[];
  readonly byArea: readonly { readonly area: string; readonly selfMs: number; readonly share: number }[];
}

const Root = fileURLToPath(new URL('../../', import.meta.url));

/** Self time per function and per area (package, or folder of our code) from a `node --cpu-prof` file; idle excluded. */
export async function summarizeCpuProfile(path: string, topN: number): Promise<CpuProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, { functionName: string; location: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const location = locationOf(frame.url, frame.lineNumber);
    const key = `${frame.functionName}\u0000${location}`;
    const entry = functions.get(key) ?? { functionName: frame.functionName || '(anonymous)', location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ms = (us: number) => Math.round(us / 1_000);
  const share = (us: number) => (totalUs === 0 ? 0 : Number((us / totalUs).toFixed(4)));
  return {
    sampledMs: ms(totalUs),
    idleMs: ms(idleUs),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ functionName: f.functionName, location: f.location, selfMs: ms(f.us), share: share(f.us) })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([area, us]) => ({ area, selfMs: ms(us), share: share(us) })),
  };
}

function pathOf(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return relative(Root, fileURLToPath(url.split('?')[0]!));
    } catch {
      return url;
    }
  }
  return url;
}

function locationOf(url: string, line: number): string {
  if (url === '') return '(native)';
  return `${pathOf(url)}:${line + 1}`;
}

/** A package under node_modules, node's own code, V8 (GC, program), or our top-level folder with its sub-folder. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? `V8 ${functionName}` : 'native';
  if (url.startsWith('node:')) return 'node internals';
  const path = pathOf(url);
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const parts = path.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}
