// Public surface of src/api: one schema + type per kind, the kind registry, validation, errors, cross-object
// checks, unsupported-field reporting, CRD generation and the input reader.
export * from './errors.js';
export * from './meta.js';
export * from './common.js';
export * from './fields.js';
export * from './ip-pool.js';
export * from './bgp-configuration.js';
export * from './bgp-peer.js';
export * from './bgp-filter.js';
export * from './felix-configuration.js';
export * from './ipam-block.js';
export * from './block-affinity.js';
export * from './ipam-handle.js';
export * from './ipam-configuration.js';
export * from './ip-reservation.js';
export * from './node-dataplane.js';
export * from './route-table.js';
export * from './kinds.js';
export * from './validate.js';
export * from './admission.js';
export * from './validation-table.js';
export * from './unsupported.js';
export * from './cross-checks.js';
export * from './crd-gen.js';
export * from './reader.js';
