// The stb_image and stb_image_write implementations, compiled only where pkg-config has no stb
// (model/CMakeLists.txt); on Debian, libstb-dev's shared library provides them instead.
// Not used directly: include <stb_image.h> / <stb_image_write.h> for the declarations.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
