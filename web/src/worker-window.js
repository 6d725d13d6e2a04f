// @towns-protocol/olm draws its randomness from `window.crypto`, which a worker lacks under that
// name: the worker's own global stands in for it. Imported first by crypto-worker.js.
self.window = self;
