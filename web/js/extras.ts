// The package's code that only some users need, with its own wasm (web/extras): the vault's key
// derivation (Argon2id), the shell history parser, the reading of a key given as its 24 words,
// and the scripts, shell aliases and variables (`Stores`: folded from the pages the main module
// keeps; the records a script's change writes). Imported on first use (index.ts): the package
// entry and its wasm do not carry it.
export { default, argon2id, keyFromPhrase, parseShellHistory, Stores } from '../pkg/terrapin_extras.js';
