/** Live migrations: the runner (start, watch, steer), its switchover gate, and what it stores. */
export type { KeepConnections } from './gate';
export type { MigrationStore } from './watch';
export { MigrationRunner } from './runner';
export type { MigrationDecisions, MigrationPlanRequest } from './plan';
export { livePlanDeps, planMigration, PlanStopped } from './plan';
