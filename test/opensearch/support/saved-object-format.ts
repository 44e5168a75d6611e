/**
 * The rules OpenSearch Dashboards' saved-object import (`POST /api/saved_objects/_import`, Dashboards Management ->
 * Saved objects -> Import) applies to an ndjson file, written down so a test can hold our file to them without a
 * Dashboards server: one JSON object per line with `id`, `type`, `attributes`, `references` and a `migrationVersion`
 * keyed by its own type; unique type+id; every reference resolvable inside the file (the import reports
 * `missing_references` otherwise); attributes the 7.10 format stores as JSON strings (visState, uiStateJSON,
 * panelsJSON, optionsJSON, searchSourceJSON) parse as JSON; every `*RefName` inside them names a reference of the
 * object (panelRefName -> panel_N, indexRefName -> kibanaSavedObjectMeta.searchSourceJSON.index, indexPatternRefName
 * -> control_N_index_pattern) and every reference is used; search sources never name an index inline.
 */
const Types = new Set(['index-pattern', 'visualization', 'search', 'dashboard']);

type Json = Record<string, unknown>;
interface Reference {
  name: string;
  type: string;
  id: string;
}

export interface ParsedObject {
  readonly id: string;
  readonly type: string;
  readonly attributes: Json;
  readonly references: readonly Reference[];
}

/** Problems found in an ndjson export, one line each; an empty list means it would import cleanly. */
export function savedObjectProblems(ndjson: string, prefix: string): string[] {
  const problems: string[] = [];
  const objects: ParsedObject[] = [];
  ndjson.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${n + 1}: not JSON`);
      return;
    }
    const o = value as Json;
    const where = `line ${n + 1} (${String(o.type)} ${String(o.id)})`;
    if (typeof o.id !== 'string' || o.id === '') problems.push(`${where}: id must be a non-empty string`);
    if (typeof o.type !== 'string' || !Types.has(o.type)) problems.push(`${where}: unknown type`);
    if (!isObject(o.attributes)) problems.push(`${where}: attributes must be an object`);
    if (!Array.isArray(o.references) || !o.references.every(isReference)) problems.push(`${where}: references must be [{ name, type, id }]`);
    const migration = o.migrationVersion as Json | undefined;
    if (!isObject(migration) || Object.keys(migration).join() !== o.type || typeof migration[String(o.type)] !== 'string') {
      problems.push(`${where}: migrationVersion must be { "${String(o.type)}": "<version>" }`);
    }
    if (typeof o.id === 'string' && !o.id.startsWith(`${prefix}-`)) problems.push(`${where}: id does not start with the index prefix "${prefix}-"`);
    if (typeof o.id === 'string' && typeof o.type === 'string' && isObject(o.attributes) && Array.isArray(o.references)) {
      objects.push({ id: o.id, type: o.type, attributes: o.attributes, references: o.references as Reference[] });
    }
  });
  const keys = objects.map((o) => `${o.type}:${o.id}`);
  for (const [i, key] of keys.entries()) if (keys.indexOf(key) !== i) problems.push(`${key}: duplicate type and id`);
  const byKey = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));
  for (const o of objects) {
    const where = `${o.type} ${o.id}`;
    for (const ref of o.references) if (!byKey.has(`${ref.type}:${ref.id}`)) problems.push(`${where}: missing reference ${ref.type} ${ref.id}`);
    const names = o.references.map((r) => r.name);
    if (new Set(names).size !== names.length) problems.push(`${where}: two references share a name`);
    if (typeof o.attributes.title !== 'string' || o.attributes.title === '') problems.push(`${where}: attributes.title must be a non-empty string`);
    const used = new Set<string>();
    const refNamed = (refName: unknown, type: string | null, what: string) => {
      const ref = o.references.find((r) => r.name === refName);
      if (!ref) problems.push(`${where}: ${what} ${String(refName)} has no reference`);
      else {
        used.add(ref.name);
        if (type && ref.type !== type) problems.push(`${where}: ${what} ${ref.name} should reference a ${type}, not a ${ref.type}`);
      }
    };
    const jsonAttr = (value: unknown, what: string): unknown => {
      if (typeof value !== 'string') {
        problems.push(`${where}: ${what} must be a JSON string`);
        return undefined;
      }
      try {
        return JSON.parse(value);
      } catch {
        problems.push(`${where}: ${what} is not valid JSON`);
        return undefined;
      }
    };
    const meta = o.attributes.kibanaSavedObjectMeta as Json | undefined;
    if (o.type !== 'index-pattern') {
      const source = jsonAttr(meta?.searchSourceJSON, 'kibanaSavedObjectMeta.searchSourceJSON') as Json | undefined;
      if (source && 'index' in source) problems.push(`${where}: searchSourceJSON names an index inline (use indexRefName and a reference)`);
      if (source?.indexRefName !== undefined) refNamed(source.indexRefName, 'index-pattern', 'indexRefName');
    }
    if (o.type === 'index-pattern' && o.attributes.fields !== undefined) jsonAttr(o.attributes.fields, 'fields');
    if (o.type === 'visualization') {
      const vis = jsonAttr(o.attributes.visState, 'visState') as Json | undefined;
      jsonAttr(o.attributes.uiStateJSON, 'uiStateJSON');
      if (vis && (typeof vis.type !== 'string' || !isObject(vis.params) || !Array.isArray(vis.aggs))) problems.push(`${where}: visState needs type, params and aggs`);
      if (vis && vis.title !== o.attributes.title) problems.push(`${where}: visState.title differs from the title`);
      const controls = (vis?.params as Json | undefined)?.controls;
      if (Array.isArray(controls)) {
        controls.forEach((control: Json, i) => {
          if (control.indexPatternRefName !== `control_${i}_index_pattern`) problems.push(`${where}: control ${i} must use indexPatternRefName control_${i}_index_pattern`);
          if ('indexPattern' in control) problems.push(`${where}: control ${i} names an index pattern inline`);
          refNamed(control.indexPatternRefName, 'index-pattern', 'indexPatternRefName');
        });
      }
    }
    if (o.type === 'search') {
      if (!Array.isArray(o.attributes.columns) || !o.attributes.columns.every((c) => typeof c === 'string')) problems.push(`${where}: columns must be strings`);
      if (!Array.isArray(o.attributes.sort)) problems.push(`${where}: sort must be an array`);
    }
    if (o.type === 'dashboard') {
      const panels = jsonAttr(o.attributes.panelsJSON, 'panelsJSON');
      jsonAttr(o.attributes.optionsJSON, 'optionsJSON');
      if (!Array.isArray(panels)) problems.push(`${where}: panelsJSON must be an array`);
      else {
        for (const panel of panels as Json[]) {
          refNamed(panel.panelRefName, null, 'panelRefName');
          if ('id' in panel || 'type' in panel) problems.push(`${where}: a panel names its object inline (use panelRefName)`);
          const grid = panel.gridData as Json | undefined;
          if (!grid || typeof grid.i !== 'string' || grid.i !== panel.panelIndex) problems.push(`${where}: panel ${String(panel.panelIndex)} gridData.i must equal panelIndex`);
          if (grid && Number(grid.x) + Number(grid.w) > 48) problems.push(`${where}: panel ${String(panel.panelIndex)} is wider than the 48-column grid`);
        }
      }
      if (typeof o.attributes.timeRestore !== 'boolean') problems.push(`${where}: timeRestore must be a boolean`);
    }
    for (const name of names) if (!used.has(name)) problems.push(`${where}: reference ${name} is not used by any *RefName`);
  }
  return problems;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isReference(value: unknown): value is Reference {
  return isObject(value) && typeof value.name === 'string' && typeof value.type === 'string' && typeof value.id === 'string';
}
