import { RuleCatalogFile, RuleDefinition } from '../../schemas/rule-catalog.ts';
import type { RuleScope, Severity } from '../../schemas/rule-catalog.ts';
import { parseConfigFile } from '../../pipeline/config/parse-config-file.ts';
import { BuiltInRules } from './built-in-rules.ts';

export interface RuleLookup {
  readonly rule: RuleDefinition;
  /** False when the rule is not in the catalog and got the defaults: flagged, never dropped. */
  readonly known: boolean;
}

/** Rule attributes (severity, scope, texts) by normalized rule name. */
export class RuleCatalog {
  readonly #rules: ReadonlyMap<string, RuleDefinition>;
  readonly #defaults: { readonly severity: Severity; readonly scope: RuleScope };

  constructor(rules: readonly RuleDefinition[], defaults: { severity: Severity; scope: RuleScope }) {
    this.#rules = new Map(rules.map((rule) => [rule.name, rule]));
    this.#defaults = defaults;
  }

  static builtIn(): RuleCatalog {
    return new RuleCatalog(
      BuiltInRules.map((rule) => RuleDefinition.parse(rule)),
      { severity: 'Medium', scope: 'All' },
    );
  }

  /** The built-in catalog with a file's rules overriding (same name) or extending it. */
  static async load(path: string | undefined): Promise<RuleCatalog> {
    const builtIn = RuleCatalog.builtIn();
    if (!path) return builtIn;
    const file = await parseConfigFile(RuleCatalogFile, path, 'rule catalog');
    const merged = new Map(builtIn.#rules);
    for (const rule of file.rules) merged.set(rule.name, rule);
    return new RuleCatalog([...merged.values()], file.defaults);
  }

  lookup(name: string): RuleLookup {
    const rule = this.#rules.get(name);
    if (rule) return { rule, known: true };
    return {
      rule: { name, title: name, severity: this.#defaults.severity, scope: this.#defaults.scope, category: 'uncatalogued', risk: '', remediation: '', custom: false },
      known: false,
    };
  }

  get rules(): readonly RuleDefinition[] {
    return [...this.#rules.values()];
  }
}
