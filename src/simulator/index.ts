/** A ZStack REST API (tickets, sessions, async jobs) in memory, for tests, demos and frontend work. */
export { startSimulator } from './server.js';
export type {
  DemoData,
  Fault,
  FaultRule,
  RecordedRequest,
  RequestFailureRule,
  Simulator,
  SimulatorControls,
  SimulatorOptions,
} from './types.js';
