#include "report.hpp"
#include <cstdio>

int main() {
    std::fputs(format_table(sample_shapes()).c_str(), stdout);
    return 0;
}
