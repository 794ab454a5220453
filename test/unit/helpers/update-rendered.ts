// Writes test/fixtures/rendered/ from the renderer: `npx tsx test/unit/helpers/update-rendered.ts`.
// Only after an intended template change, and read every changed line before keeping it.
import { writeFileSync } from "node:fs";
import { RENDERED, RENDERED_DIR } from "./rendered.js";

for (const [name, render] of Object.entries(RENDERED)) {
  writeFileSync(new URL(name, RENDERED_DIR), render().content);
  console.log(`wrote ${name}`);
}
