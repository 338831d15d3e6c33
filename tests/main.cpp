// Catch2 2.x supplies main() here; every test file links this once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
