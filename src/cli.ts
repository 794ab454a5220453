#!/usr/bin/env node
// The entry point: first the process's priority, then the command line (main.ts), loaded only after
// it so that loading and compiling rf-agent's code already runs at that priority.
import { raisePriority } from "./exec/priority.js";

raisePriority();
void import("./main.js");
