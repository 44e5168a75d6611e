import type { z } from 'zod';

/** A schema uses something the predicate compiler does not know: compile time, never a silent acceptance. */
export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';

  constructor(what: string, options?: ErrorOptions) {
    super(`compileZodPredicate does not support ${what}`, options);
  }
}

interface Def {
  readonly type: string;
  readonly shape?: Record<string, { readonly _zod: { readonly def: Def } }>;
  readonly catchall?: unknown;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly innerType?: { readonly _zod: { readonly def: Def } };
  readonly element?: { readonly _zod: { readonly def: Def } };
  readonly entries?: Record<string, unknown>;
  readonly values?: readonly unknown[];
  readonly defaultValue?: unknown;
  readonly coerce?: boolean;
}

const KnownKeys: Record<string, readonly string[]> = {
  object: ['type', 'shape'],
  string: ['type', 'checks', 'coerce'],
  enum: ['type', 'entries'],
  literal: ['type', 'values'],
  array: ['type', 'element', 'checks'],
  optional: ['type', 'innerType'],
  default: ['type', 'innerType', 'defaultValue'],
};

interface CheckDef {
  readonly check: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly fn?: (value: unknown) => unknown;
}

export interface CompileOptions {
  /**
   * Refinements a caller may vouch for on a call (`predicate(value, true)`): it knows they hold for every string of
   * the value, e.g. storability when the JSON text had no escape at all. Checked as usual on any other call.
   */
  readonly vouchable?: readonly ((value: never) => unknown)[];
}

/** True only when the schema accepts the value; `vouched` skips the refinements the compile options named vouchable. */
export type CompiledPredicate<T extends z.ZodType> = (value: unknown, vouched?: boolean) => value is z.output<T>;

/**
 * A zod schema compiled to one straight-line predicate: true only when the schema would accept the value, without
 * building the copy zod's parse returns. The hot path (every record) runs it; a value it refuses goes to zod, which
 * says why, so the schema stays the one source of truth and of reasons. It never accepts what zod refuses: any
 * construct it does not know throws at compile time. An accepted value is returned as it is, extra keys included;
 * absent fields with a default get it set in place, as zod's output would have them.
 *
 * Supported: object (no catchall), string (min/max length, regex, refine), enum, literal, optional, default, array (max).
 */
export function compileZodPredicate<T extends z.ZodType>(schema: T, options: CompileOptions = {}): CompiledPredicate<T> {
  const vouchable = new Set(options.vouchable ?? []);
  const regexes: RegExp[] = [];
  const refinements: ((value: unknown) => unknown)[] = [];
  const defaults: Def[] = [];
  const constants: unknown[][] = [];
  let counter = 0;

  const emit = (def: Def, value: string): string => {
    // A definition with anything more than its kind's known keys (z.email() is a string with a format of its own)
    // could refuse what this check lets through.
    const known = KnownKeys[def.type];
    if (!known) throw new UnsupportedSchemaError(`the schema type ${def.type}`);
    const extra = Object.keys(def).find((key) => !known.includes(key) && (def as unknown as Record<string, unknown>)[key] !== undefined);
    if (extra !== undefined) throw new UnsupportedSchemaError(`${def.type} with ${extra}`);
    switch (def.type) {
      case 'object': {
        if (def.catchall !== undefined) throw new UnsupportedSchemaError('an object catchall');
        let code = `if (typeof ${value} !== 'object' || ${value} === null || Array.isArray(${value})) return false;\n`;
        for (const [key, field] of Object.entries(def.shape ?? {})) {
          const local = `v${counter++}`;
          code += `{ const ${local} = ${value}[${JSON.stringify(key)}];\n${emitField(field._zod.def, local, value, key)}}\n`;
        }
        return code;
      }
      case 'string': {
        if (def.coerce) throw new UnsupportedSchemaError('a coerced string');
        let code = `if (typeof ${value} !== 'string') return false;\n`;
        for (const check of def.checks ?? []) code += emitStringCheck(check._zod.def, value);
        return code;
      }
      case 'enum':
      case 'literal': {
        const allowed = def.type === 'enum' ? Object.values(def.entries ?? {}) : [...(def.values ?? [])];
        if (allowed.length === 0 || allowed.some((v) => typeof v !== 'string')) throw new UnsupportedSchemaError(`a non-string ${def.type}`);
        constants.push(allowed);
        return `if (!constants[${constants.length - 1}].includes(${value})) return false;\n`;
      }
      case 'array': {
        let code = `if (!Array.isArray(${value})) return false;\n`;
        for (const check of def.checks ?? []) {
          const c = check._zod.def;
          if (c.check === 'max_length') code += `if (${value}.length > ${Number(c.maximum)}) return false;\n`;
          else if (c.check === 'min_length') code += `if (${value}.length < ${Number(c.minimum)}) return false;\n`;
          else throw new UnsupportedSchemaError(`the array check ${c.check}`);
        }
        const index = `i${counter++}`;
        const element = `e${counter++}`;
        return `${code}for (let ${index} = 0; ${index} < ${value}.length; ${index}++) { const ${element} = ${value}[${index}];\n${emit(def.element!._zod.def, element)}}\n`;
      }
      default:
        throw new UnsupportedSchemaError(`the schema type ${def.type}${def.type === 'optional' || def.type === 'default' ? ' outside an object' : ''}`);
    }
  };

  const emitField = (def: Def, value: string, parent: string, key: string): string => {
    const known = KnownKeys[def.type];
    if (known && Object.keys(def).some((k) => !known.includes(k))) throw new UnsupportedSchemaError(`${def.type} with ${Object.keys(def).join(', ')}`);
    if (def.type === 'optional') return `if (${value} !== undefined) {\n${emit(def.innerType!._zod.def, value)}}\n`;
    if (def.type === 'default') {
      defaults.push(def);
      // zod's defaultValue getter gives a fresh copy each time, as its parse does.
      return `if (${value} === undefined) ${parent}[${JSON.stringify(key)}] = defaults[${defaults.length - 1}].defaultValue;\nelse {\n${emit(def.innerType!._zod.def, value)}}\n`;
    }
    return emit(def, value);
  };

  const emitStringCheck = (check: CheckDef, value: string): string => {
    switch (check.check) {
      case 'min_length':
        return `if (${value}.length < ${Number(check.minimum)}) return false;\n`;
      case 'max_length':
        return `if (${value}.length > ${Number(check.maximum)}) return false;\n`;
      case 'string_format': {
        if (check.format !== 'regex' || !check.pattern) throw new UnsupportedSchemaError(`the string format ${check.format}`);
        // Without g/y, test() keeps no state between values.
        regexes.push(new RegExp(check.pattern.source, check.pattern.flags.replace(/[gy]/g, '')));
        return `if (!regexes[${regexes.length - 1}].test(${value})) return false;\n`;
      }
      case 'custom':
        if (typeof check.fn !== 'function') throw new UnsupportedSchemaError('a custom check without a function');
        refinements.push(check.fn);
        // Only a plain true passes: anything else (a promise of an async refinement included) goes to zod.
        return `if (${vouchable.has(check.fn) ? '!vouched && ' : ''}refinements[${refinements.length - 1}](${value}) !== true) return false;\n`;
      default:
        throw new UnsupportedSchemaError(`the string check ${check.check}`);
    }
  };

  const body = `${emit((schema as unknown as { _zod: { def: Def } })._zod.def, 'root')}return true;`;
  // Generated from the schema's own definition (keys are JSON-quoted), never from input.
  const factory = new Function('regexes', 'refinements', 'defaults', 'constants', `return function compiledPredicate(root, vouched = false) {\n${body}\n};`);
  return factory(regexes, refinements, defaults, constants) as CompiledPredicate<T>;
}
