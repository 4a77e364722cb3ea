#include "geom.h"

double rect_area(double w, double h) { return w * h; }
double rect_perimeter(double w, double h) { return 2.0 * (w + h); }
