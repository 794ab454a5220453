// The agent's units' names and paths are part of the one Layout (src/core/layout.ts: layout.triggers);
// this name stays for test/integration/hardening.test.ts, which imports it from here.
export { triggerLayout, type DeployInstance, type TriggerLayout } from "../core/layout.js";
