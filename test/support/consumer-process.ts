import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');
const TailLines = 200;

export interface ConsumerProcessOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Arguments after `run`, e.g. ['--until-caught-up']. */
  readonly args?: readonly string[];
  /** Node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x']. */
  readonly nodeArgs?: readonly string[];
  /** How often /proc/<pid>/status is read for VmRSS and VmHWM. Default 200 ms. */
  readonly sampleIntervalMs?: number;
  /** Called with each JSON log line of the child's stderr. */
  readonly onLog?: (line: LogLine) => void;
  /** Also write the whole stderr to this file (for a post-mortem of a long run). */
  readonly logFile?: string;
}

export interface LogLine {
  readonly msg?: string;
  readonly time?: number;
  readonly level?: number;
  readonly [field: string]: unknown;
}

export interface MemorySample {
  readonly at: number;
  readonly rssBytes: number;
}

/**
 * `driftwatch run` as a real child process (`node bin/driftwatch.mjs run ...`): a crash is a real SIGKILL, and its
 * memory is its own (kinesalite and the Slack server stay in the parent). Samples RSS while it runs.
 */
export class ConsumerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  readonly samples: MemorySample[] = [];
  #peakRssBytes = 0;
  #tail: string[] = [];
  #partial = '';
  readonly #seen = new Map<string, LogLine>();
  readonly #waiters = new Set<() => void>();
  readonly #timer: NodeJS.Timeout;

  private constructor(options: ConsumerProcessOptions) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), Bin, 'run', ...(options.args ?? [])], {
      env: options.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const file = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
    this.child.stderr!.on('data', (chunk: Buffer) => {
      file?.write(chunk);
      this.#onStderr(chunk.toString('utf8'), options.onLog);
    });
    this.child.stderr!.once('end', () => file?.end());
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        clearInterval(this.#timer);
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      });
    });
    this.#timer = setInterval(() => this.#sample(), options.sampleIntervalMs ?? 200);
    this.#timer.unref();
  }

  static start(options: ConsumerProcessOptions): ConsumerProcess {
    return new ConsumerProcess(options);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Peak resident set (VmHWM) seen so far, in bytes. */
  get peakRssBytes(): number {
    return this.#peakRssBytes;
  }

  /** The last lines of stderr (for failure messages), without the deeply indented lines of dumped objects. */
  stderrTail(lines = 30): string {
    return this.#tail.filter((line) => !/^ {6}/.test(line)).slice(-lines).join('\n');
  }

  /** The first log line with this message, once it appears (null if the process exits or the time runs out first). */
  async waitForLog(msg: string, timeoutMs: number): Promise<LogLine | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#seen.has(msg) && this.running && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.#waiters.add(wake);
      });
    }
    return this.#seen.get(msg) ?? null;
  }

  logged(msg: string): LogLine | undefined {
    return this.#seen.get(msg);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #sample(): void {
    const status = readStatus(this.pid);
    if (!status) return;
    if (status.hwm > this.#peakRssBytes) this.#peakRssBytes = status.hwm;
    this.samples.push({ at: Date.now(), rssBytes: status.rss });
  }

  #onStderr(text: string, onLog: ConsumerProcessOptions['onLog']): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.length === 0) continue;
      this.#tail.push(line.length > 2_000 ? `${line.slice(0, 2_000)}…` : line);
      if (this.#tail.length > TailLines * 2) this.#tail = this.#tail.slice(-TailLines);
      if (!line.startsWith('{')) continue;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        continue;
      }
      if (typeof parsed.msg === 'string' && !this.#seen.has(parsed.msg)) this.#seen.set(parsed.msg, parsed);
      onLog?.(parsed);
    }
    for (const wake of this.#waiters) wake();
  }
}

/** VmRSS and VmHWM of a live process, in bytes (Linux); null once it is gone. */
export function readStatus(pid: number): { readonly rss: number; readonly hwm: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1_024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
