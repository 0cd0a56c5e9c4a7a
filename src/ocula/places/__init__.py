"""Places: offline reverse geocoding (GeoNames), local time and moments."""
