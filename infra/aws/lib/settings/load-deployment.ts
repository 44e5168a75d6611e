import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { AccountRegistryFile } from '../../../../schemas/account-registry.ts';
import { RuleCatalogFile, RuleDefinition } from '../../../../schemas/rule-catalog.ts';
import { BuiltInRules } from '../../../../stages/enrich/built-in-rules.ts';
import { CustomRuleNames } from '../../custom-rules/custom-rule-names.ts';
import { DeploymentError } from './deployment-error.ts';
import { DeploymentSettings } from './deployment-settings.ts';

/** The repository root (Dockerfile, dist/lambda), independent of the working directory. */
export const RepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const ExampleConfigPath = resolve(RepoRoot, 'infra/aws/examples/deployment.example.yaml');

/** Organization rule names are at most 64 characters; ExcludedAccounts holds at most 1,000 ids. */
const MaxRuleNameLength = 64;
const MaxExcludedAccounts = 1000;

/** Variables the app sets itself; secrets among them must never be given as plain values. */
const ReservedConsumerVariables: ReadonlySet<string> = new Set([
  'DATABASE_URL', 'PGUSER', 'PGPASSWORD', 'SLACK_TOKEN', 'OPENSEARCH_URL', 'OPENSEARCH_USERNAME', 'OPENSEARCH_PASSWORD',
  'KINESIS_STREAM', 'AWS_REGION', 'DRIFTWATCH_METRICS_PORT', 'DRIFTWATCH_METRICS_HOST', 'DRIFTWATCH_SECRETS',
]);

/** The validated inputs of one synth: settings, the rule catalog to deploy and the account registry. */
export interface Deployment {
  readonly settings: DeploymentSettings;
  /** Catalog rules deployed as organization rules (built-in merged with the catalog file, `deploy: false` left out). */
  readonly rules: readonly RuleDefinition[];
  readonly registry: AccountRegistryFile | undefined;
  readonly configPath: string;
}

export interface LoadDeploymentInput {
  /** CDK context values (cdk.json, `-c key=value`); `config` names the settings file, dotted keys override fields. */
  readonly context: Readonly<Record<string, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Reads and checks every input; any problem throws a DeploymentError with one line naming it. */
export function loadDeployment(input: LoadDeploymentInput): Deployment {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const configArg = stringValue(input.context['config']) ?? env['DRIFTWATCH_AWS_CONFIG'];
  const configPath = configArg ? resolve(cwd, configArg) : ExampleConfigPath;
  const raw = readStructuredFile(configPath, 'deployment settings');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DeploymentError(`deployment settings file ${configPath} is not a mapping`);
  const merged = structuredClone(raw) as Record<string, unknown>;
  resolvePaths(merged, dirname(configPath));
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input.context)) {
    if (key === 'config' || key.startsWith('aws:') || key.startsWith('@aws-cdk/') || key.startsWith('cdk-')) continue;
    setPath(overrides, key, typeof value === 'string' ? parseScalar(value) : value);
  }
  resolvePaths(overrides, cwd);
  deepMerge(merged, overrides);
  const settings = parseWith(DeploymentSettings, merged, `deployment settings (${configPath})`);
  const reserved = Object.keys(settings.consumerEnvironment).filter((name) => ReservedConsumerVariables.has(name));
  if (reserved.length > 0) {
    throw new DeploymentError(`consumerEnvironment.${reserved[0]} is set by the app (endpoints from the settings, secrets from Secrets Manager only)`);
  }

  const evaluatorRegion = settings.globalResourcesRegion ?? settings.centralRegion;
  if (!settings.regions.includes(evaluatorRegion)) {
    throw new DeploymentError(`region ${evaluatorRegion} (globalResourcesRegion, else centralRegion) is not in regions: the member stacks create the custom rules' evaluator role there`);
  }
  const registry = settings.accountRegistry
    ? parseWith(AccountRegistryFile, readStructuredFile(settings.accountRegistry, 'account registry'), `account registry file ${settings.accountRegistry}`)
    : undefined;
  const rules = deployedRules(settings.ruleCatalog);
  checkRules(rules, registry);
  return { settings, rules, registry, configPath };
}

/** Accounts a ProductionOnly rule skips: exactly the registry's accounts whose environment is known and not production. */
export function nonProductionAccounts(registry: AccountRegistryFile): string[] {
  return registry.accounts
    .filter((account) => account.environment !== 'production' && account.environment !== 'unknown')
    .map((account) => account.id)
    .sort();
}

function deployedRules(catalogPath: string | undefined): RuleDefinition[] {
  const merged = new Map<string, RuleDefinition>(BuiltInRules.map((rule) => [rule.name, RuleDefinition.parse(rule)]));
  if (catalogPath) {
    const file = parseWith(RuleCatalogFile, readStructuredFile(catalogPath, 'rule catalog'), `rule catalog file ${catalogPath}`);
    for (const rule of file.rules) merged.set(rule.name, rule);
  }
  return [...merged.values()].filter((rule) => rule.deploy !== false);
}

function checkRules(rules: readonly RuleDefinition[], registry: AccountRegistryFile | undefined): void {
  for (const rule of rules) {
    if (rule.name.length > MaxRuleNameLength) throw new DeploymentError(`rule ${rule.name}: organization rule names have at most ${MaxRuleNameLength} characters`);
    if (rule.custom) {
      if (!CustomRuleNames.includes(rule.name)) {
        throw new DeploymentError(`rule ${rule.name} is custom but infra/aws/custom-rules has no Lambda for it (have: ${CustomRuleNames.join(', ')}); set deploy: false to keep it out`);
      }
      if (!rule.resourceTypes && !rule.maximumExecutionFrequency) {
        throw new DeploymentError(`custom rule ${rule.name} has neither resourceTypes nor maximumExecutionFrequency: AWS Config would never run it`);
      }
    } else if (!rule.managedRuleIdentifier) {
      throw new DeploymentError(`rule ${rule.name} is not custom and has no managedRuleIdentifier: add the AWS managed rule identifier, or deploy: false`);
    }
  }
  const productionOnly = rules.filter((rule) => rule.scope === 'ProductionOnly').map((rule) => rule.name);
  if (productionOnly.length > 0 && !registry) {
    throw new DeploymentError(`ProductionOnly rules (${productionOnly.join(', ')}) need an account registry to exclude non-production accounts: set accountRegistry`);
  }
  if (registry && nonProductionAccounts(registry).length > MaxExcludedAccounts) {
    throw new DeploymentError(`account registry has more than ${MaxExcludedAccounts} non-production accounts, the limit of an organization rule's ExcludedAccounts`);
  }
}

function readStructuredFile(path: string, what: string): unknown {
  if (!existsSync(path)) throw new DeploymentError(`${what} file ${path} does not exist`);
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DeploymentError(`${what} file ${path} is not valid YAML/JSON: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
}

function parseWith<S extends z.ZodType>(schema: S, data: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new DeploymentError(`${what} is invalid: ${where}: ${issue.message}`);
}

/** File paths in settings are relative to the file (or, for context values, to the working directory). */
function resolvePaths(settings: Record<string, unknown>, base: string): void {
  for (const key of ['accountRegistry', 'ruleCatalog']) {
    const value = settings[key];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) settings[key] = resolve(base, value);
  }
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `-c key=value` gives strings: numbers, booleans and JSON objects/arrays are read as such. */
function parseScalar(value: string): unknown {
  if (/^(true|false|-?\d+(\.\d+)?)$/.test(value) || /^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (node[key] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) deepMerge(existing, value);
    else target[key] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
