/* geom: areas and perimeters of simple shapes (a C library). */
#ifndef GEOM_H
#define GEOM_H
#ifdef __cplusplus
extern "C" {
#endif
double circle_area(double r);
double circle_perimeter(double r);
double rect_area(double w, double h);
double rect_perimeter(double w, double h);
#ifdef __cplusplus
}
#endif
#endif
