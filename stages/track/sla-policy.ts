import { DateTime } from 'luxon';
import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import type { Severity } from '../../schemas/rule-catalog.ts';
import { parseConfigFile } from '../../pipeline/config/parse-config-file.ts';
import { ConfigFileError } from '../../pipeline/config/config-file-error.ts';

/**
 * Deadlines by severity. Business days skip the calendar's weekend days and holidays in its timezone, and keep the
 * local time of day: a High finding opened Friday 15:00 with 3 business days is due Wednesday 15:00.
 */
export class SlaPolicy {
  readonly #file: SlaPolicyFile;
  readonly #holidays: ReadonlySet<string>;
  readonly #weekend: ReadonlySet<number>;

  constructor(file: SlaPolicyFile) {
    if (!DateTime.local().setZone(file.timezone).isValid) throw new ConfigFileError(`SLA policy timezone ${file.timezone} is not a known IANA timezone`);
    this.#file = file;
    this.#holidays = new Set(file.holidays);
    this.#weekend = new Set(file.weekend);
  }

  static defaults(): SlaPolicy {
    return new SlaPolicy(SlaPolicyFile.parse({}));
  }

  static async load(path: string | undefined): Promise<SlaPolicy> {
    if (!path) return SlaPolicy.defaults();
    return new SlaPolicy(await parseConfigFile(SlaPolicyFile, path, 'SLA policy'));
  }

  get timezone(): string {
    return this.#file.timezone;
  }

  /** Whether findings of this severity escalate to security once past their deadline. */
  escalates(severity: Severity): boolean {
    return this.#file.severities[severity]?.escalate ?? false;
  }

  /** Epoch ms of the deadline of a finding opened at `openedAt`, or null when the severity has no SLA. */
  deadline(openedAt: number, severity: Severity): number | null {
    const within = this.#file.severities[severity]?.within;
    if (!within) return null;
    if (within.hours !== undefined) return openedAt + within.hours * 3_600_000;
    const start = DateTime.fromMillis(openedAt, { zone: this.#file.timezone });
    if (within.days !== undefined) return start.plus({ days: within.days }).toMillis();
    let day = start;
    let remaining = within.businessDays ?? 0;
    while (remaining > 0) {
      day = day.plus({ days: 1 });
      if (this.isBusinessDay(day)) remaining--;
    }
    return day.toMillis();
  }

  isBusinessDay(day: DateTime): boolean {
    return !this.#weekend.has(day.weekday) && !this.#holidays.has(day.toISODate() ?? '');
  }
}
