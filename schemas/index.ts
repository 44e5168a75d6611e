export * from './compliance-change-event.ts';
export * from './rule-catalog.ts';
export * from './account-registry.ts';
export * from './sla-policy.ts';
export * from './settings.ts';
export * from './storable-text.ts';
export * from './iso-timestamp.ts';
