"""Test-wide settings. Hypothesis: property tests check correctness, not speed, and CI shares
two cores with whatever else runs, so no per-example deadline and no too-slow health check
(a slow machine must not fail a correct property)."""

from hypothesis import HealthCheck, settings

settings.register_profile("lab", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lab")
