// report: formats a table of shapes (a C++ library on top of geom).
#pragma once
#include <string>
#include <vector>

struct Shape {
    std::string name;
    double area;
    double perimeter;
};

std::vector<Shape> sample_shapes();
std::string format_table(const std::vector<Shape> &shapes);
