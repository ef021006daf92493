# The Debian package `hourglass-studio`, included from the top-level CMakeLists.txt:
# install rules for the data the programs read (presets, demo models) and the desktop files, and
# CPack's DEB settings. `cd build && cpack -G DEB` writes hourglass-studio_<version>_<arch>.deb;
# packaging/check-package.sh builds it and checks it. The programs' own install rules are in
# app/CMakeLists.txt. Paths are relative to the prefix (/usr in the package): the engine finds
# its presets at <exe>/../share/hourglass-studio (model/core/run_config.cpp, assets_dir()).
include(GNUInstallDirs)
set(HOURGLASS_SHARE_DIR "${CMAKE_INSTALL_DATADIR}/hourglass-studio")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/assets/presets/"
        DESTINATION "${HOURGLASS_SHARE_DIR}/presets" FILES_MATCHING PATTERN "*.json")
# The pretrained demo models: whatever assets/models holds (CONFIGURE_DEPENDS: a model added
# later is picked up by the next build without a manual re-configure).
file(GLOB HOURGLASS_DEMO_MODELS CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/assets/models/*.safetensors")
install(FILES ${HOURGLASS_DEMO_MODELS} DESTINATION "${HOURGLASS_SHARE_DIR}/models")
# The MIT license, where Debian keeps a package's copyright; CPack shows it too.
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/hourglass-studio"
        RENAME copyright)
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")

if(HOURGLASS_BUILD_GUI)
  install(FILES "${CMAKE_CURRENT_LIST_DIR}/hourglass-studio.desktop"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
  install(FILES "${CMAKE_CURRENT_LIST_DIR}/io.github.hourglass_studio.metainfo.xml"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")
  # Drawn for the project: icons/hourglass-studio.svg, the PNGs rendered from it (render-icons.sh).
  set(icons "${CMAKE_CURRENT_LIST_DIR}/icons")
  foreach(size 16 32 48 64 128 256)
    install(FILES "${icons}/hourglass-studio-${size}.png"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps"
            RENAME hourglass-studio.png)
  endforeach()
  install(FILES "${icons}/hourglass-studio.svg"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hourglass-studio)
set(CPACK_PACKAGE_VENDOR "Hourglass Studio")
set(CPACK_PACKAGE_CONTACT "Hourglass Studio developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "train, watch, sample and dissect hierarchical transformers (Hourglass)")
# Line breaks are kept in the control file; an empty line starts a new paragraph.
set(CPACK_PACKAGE_DESCRIPTION
    "Hourglass Studio trains Hourglass models: hierarchical autoregressive
transformers that shorten the sequence in their middle layers and lengthen it
again before they predict (Nawrot et al., 2021).

hourglass-studio is the desktop application (Qt 6, Dear ImGui). It opens ready
to train a tiny model on a laptop CPU on Debian's data packages, with live
curves, samples and an inspector of each level's attention.

hourglass is the command line tool (train, resume, eval, sample, inspect,
bench) for servers and GPUs. Both run on Debian's libtorch (CPU).")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # hourglass-studio_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Libraries the programs link (libtorch1.13, the Qt 6 libraries, libstb0, zlib1g, libc6, ...) come
# from dpkg-shlibdeps (package dpkg-dev). What is loaded at run time is named here: the ImGui
# OpenGL 3 backend dlopens libGL.so.1 (libgl1), Mesa's drivers render the canvas, and OpenBLAS
# makes torch's CPU matmuls ~16x faster than the reference BLAS (docs/DEVELOPING.md).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0")
if(HOURGLASS_BUILD_GUI)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libgl1, libgl1-mesa-dri")
endif()
# The default data: the fortunes text, Fashion-MNIST and Tango's 32x32 icons as colour images.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "fortunes, dataset-fashion-mnist, tango-icon-theme")
include(CPack)
