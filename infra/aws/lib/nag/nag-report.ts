import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NagFinding {
  readonly rule: string;
  readonly severity: string;
  readonly constructPath: string;
}

/** cdk-nag's results as CDK writes them next to the templates (cdk-nag runs as a CDK validation plugin). */
export interface NagReport {
  readonly errors: readonly NagFinding[];
  readonly warnings: readonly NagFinding[];
  readonly acknowledged: readonly NagFinding[];
}

interface ReportFile {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { ruleName: string; severity: string; violatingConstructs: readonly { constructPath: string }[] }[];
    readonly suppressedViolations?: readonly { ruleName: string; severity: string; violatingConstructs: readonly { constructPath: string }[] }[];
  }[];
}

export function readNagReport(assemblyDirectory: string): NagReport {
  const path = join(assemblyDirectory, 'validation-report.json');
  const report: NagReport = { errors: [], warnings: [], acknowledged: [] };
  if (!existsSync(path)) return report;
  const file = JSON.parse(readFileSync(path, 'utf8')) as ReportFile;
  const errors: NagFinding[] = [];
  const warnings: NagFinding[] = [];
  const acknowledged: NagFinding[] = [];
  for (const plugin of file.pluginReports.filter((p) => p.pluginName === 'AwsSolutions')) {
    for (const violation of plugin.violations) {
      for (const construct of violation.violatingConstructs) {
        (violation.severity === 'error' ? errors : warnings).push({ rule: violation.ruleName, severity: violation.severity, constructPath: construct.constructPath });
      }
    }
    for (const violation of plugin.suppressedViolations ?? []) {
      for (const construct of violation.violatingConstructs) acknowledged.push({ rule: violation.ruleName, severity: violation.severity, constructPath: construct.constructPath });
    }
  }
  return { errors, warnings, acknowledged };
}
