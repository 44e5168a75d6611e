import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds per group of processes over a window, from /proc (Linux): where a run's CPU went, machine-wide. */
export interface CpuAccount {
  readonly seconds: number;
  /** CPU seconds by group over the window. */
  readonly byGroup: Readonly<Record<string, number>>;
  /** Busy share of all cores over the window (0..1), everything on the machine included. */
  readonly machineBusy: number;
  readonly cores: number;
}

export interface CpuGroups {
  /** Group name of a process, or null to count it as "other". */
  classify(pid: number, comm: string, cmdline: string): string | null;
}

const TicksPerSecond = 100;

interface Snapshot {
  readonly at: number;
  readonly ticks: Map<number, { readonly group: string; readonly ticks: number }>;
  readonly machine: { readonly busy: number; readonly total: number; readonly cores: number };
}

/**
 * Start a window now; `stop()` returns the CPU used by each group since. /proc is read every `sampleMs` too, so a
 * process that exits inside the window still counts with what it had used at its last sample.
 */
export function startCpuAccounting(groups: CpuGroups, sampleMs = 500): { stop(): CpuAccount } {
  const groupByPid = new Map<number, string>();
  const snapshot = () => take(groups, groupByPid);
  const first = snapshot();
  const latest = new Map(first.ticks);
  const merge = (next: Snapshot) => {
    for (const [pid, entry] of next.ticks) latest.set(pid, entry);
  };
  const timer = setInterval(() => merge(snapshot()), sampleMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      const last = snapshot();
      merge(last);
      const byGroup: Record<string, number> = {};
      for (const [pid, now] of latest) {
        const before = first.ticks.get(pid)?.ticks ?? 0;
        byGroup[now.group] = (byGroup[now.group] ?? 0) + (now.ticks - before) / TicksPerSecond;
      }
      for (const key of Object.keys(byGroup)) byGroup[key] = Number(byGroup[key]!.toFixed(1));
      const busy = last.machine.busy - first.machine.busy;
      const total = last.machine.total - first.machine.total;
      return { seconds: Number(((last.at - first.at) / 1_000).toFixed(1)), byGroup, machineBusy: total > 0 ? Number((busy / total).toFixed(3)) : 0, cores: last.machine.cores };
    },
  };
}

function take(groups: CpuGroups, groupByPid: Map<number, string>): Snapshot {
  const ticks = new Map<number, { group: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/<pid>/stat; fields[0] here is field 3.
      const used = Number(fields[11]) + Number(fields[12]);
      let group = groupByPid.get(pid);
      if (group === undefined) {
        // A process's command line does not change: read and classify it once, so sampling stays cheap.
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        group = groups.classify(pid, comm, cmdline) ?? 'other processes';
        groupByPid.set(pid, group);
      }
      ticks.set(pid, { group, ticks: used });
    } catch {
      // The process ended while we looked.
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n');
  const total = cpu[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (total[3] ?? 0) + (total[4] ?? 0);
  const sum = total.reduce((a, b) => a + b, 0);
  const cores = cpu.filter((line) => /^cpu\d/.test(line)).length;
  return { at: Date.now(), ticks, machine: { busy: sum - idle, total: sum, cores } };
}

/** The usual groups of a bench run: the consumer child, this process (kinesalite, Slack server), our Postgres backends, OpenSearch. */
export function benchGroups(options: { readonly consumerPid: () => number; readonly databaseName: string }): CpuGroups {
  return {
    classify: (pid, comm, cmdline) => {
      if (pid === options.consumerPid()) return 'consumer (driftwatch run)';
      if (pid === process.pid) return 'bench process (kinesalite, Slack server)';
      if (comm === 'postgres' || cmdline.startsWith('postgres:')) {
        return cmdline.includes(options.databaseName) ? 'postgres (this database)' : 'postgres (other: shared server)';
      }
      if (cmdline.includes('opensearch')) return 'opensearch (shared node)';
      return null;
    },
  };
}
