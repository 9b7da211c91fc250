// cilium-operator-generic at the chart's version (CILIUM_VERSION 1.19.3),
// built by `npm run build:real` (tools/build-real.mjs) with the build tag
// ipam_provider_operator, as cilium's operator/Makefile builds the "generic"
// flavour. The two replace lines are cilium v1.19.3's own go.mod's: keep them
// in step when the version changes. No go.sum: resolved in the cache folder.
module clustermesh-runbook/tools/real/cilium-operator

go 1.26.0

tool github.com/cilium/cilium/operator

require github.com/cilium/cilium v1.19.3

replace sigs.k8s.io/controller-tools => github.com/cilium/controller-tools v0.16.5-1

replace github.com/osrg/gobgp/v3 => github.com/cilium/gobgp/v3 v3.0.0-20260130142103-27e5da2a39e6
