// The package's code that only some users need, with its own wasm (web/extras): the vault's key
// derivation (Argon2id), the shell history parser and the reading of a key given as its 24
// words. Imported on first use (index.ts): the package entry and its wasm do not carry it.
export { default, argon2id, keyFromPhrase, parseShellHistory } from '../pkg/terrapin_extras.js';
