// Tests import src modules directly: install the Node runtime as the `node` export condition's entry does.
import '../../src/runtime-node.js';
