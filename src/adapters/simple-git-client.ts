// simple-git behind one module git.ts imports on first use (a static re-export, so the bundle keeps
// the named export of this CommonJS package): a rollback or status that only reads .git/HEAD does
// not pay for loading it.
export { simpleGit } from "simple-git";
