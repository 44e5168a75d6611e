import { RuleDefinition } from '../../schemas/rule-catalog.ts';
import type { RuleCatalogFile, RuleScope, Severity } from '../../schemas/rule-catalog.ts';
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

  /** This catalog with a file's rules overriding (same name) or extending it, under the file's defaults. */
  extendedBy(file: RuleCatalogFile): RuleCatalog {
    const merged = new Map(this.#rules);
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
