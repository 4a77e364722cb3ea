#include "report.hpp"
#include <cstdio>

std::string format_table(const std::vector<Shape> &shapes) {
    std::string out;
    char line[128];
    for (const Shape &s : shapes) {
        std::snprintf(line, sizeof line, "%-12s area %8.3f  perimeter %8.3f\n", s.name.c_str(),
                      s.area, s.perimeter);
        out += line;
    }
    return out;
}
