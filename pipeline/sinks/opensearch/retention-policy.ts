import { IndexNames } from './index-names.ts';
import { eventIndexPatterns } from './index-templates.ts';

/**
 * The ISM policy that deletes monthly event indices `retentionDays` after they were created. ISM counts from index
 * creation (the first event of the month), so the newest events of a month are kept about a month less than that.
 */
export function retentionPolicy(prefix: string, retentionDays: number): Record<string, unknown> {
  return {
    policy: {
      description: `driftwatch: delete ${IndexNames.eventsPattern(prefix)} indices ${retentionDays} days after creation`,
      default_state: 'hot',
      states: [
        { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: `${retentionDays}d` } }] },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: eventIndexPatterns(prefix), priority: 100 }],
    },
  };
}
