#include "geom.h"

static const double PI = 3.14159265358979323846;

double circle_area(double r) { return PI * r * r; }
double circle_perimeter(double r) { return 2.0 * PI * r; }
