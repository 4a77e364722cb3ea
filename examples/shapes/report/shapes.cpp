#include "report.hpp"
#include "geom.h"

std::vector<Shape> sample_shapes() {
    return {
        {"circle r=1", circle_area(1.0), circle_perimeter(1.0)},
        {"rect 2x3", rect_area(2.0, 3.0), rect_perimeter(2.0, 3.0)},
    };
}
