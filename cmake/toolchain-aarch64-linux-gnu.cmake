# Cross-build for 64-bit Arm Linux boards (aarch64) on a Debian 12 x86_64 host.
#
# Needs Debian's cross toolchain and the :arm64 -dev packages (scripts/install-deps):
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install crossbuild-essential-arm64 qemu-user \
#     libusb-1.0-0-dev:arm64 libplist-dev:arm64 libinih-dev:arm64 \
#     libgtest-dev:arm64 libgmock-dev:arm64
# Asio is header-only (libasio-dev, Architecture: all) and is shared with the host.
#
#   cmake -S . -B build-arm64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake -DTETHER_BUILD_BENCHMARKS=OFF
#
# tether-sim (umockdev, GLib) is left out because umockdev is not installed for arm64;
# the tests built are the unit tests and corpus replays, which ctest runs under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TETHER_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${TETHER_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${TETHER_CROSS_TRIPLET}-g++)
# find_package() then looks in /usr/lib/aarch64-linux-gnu/cmake (GTest) and find_library()
# in /usr/lib/aarch64-linux-gnu, never in the host's x86_64-linux-gnu directories.
set(CMAKE_LIBRARY_ARCHITECTURE ${TETHER_CROSS_TRIPLET})

# Debian multiarch: the arm64 libraries live beside the host's under /usr, so there is
# no sysroot. Programs (pkg-config, clang-format, python3) are the host's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must read the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${TETHER_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and gtest_discover_tests at build time) run the arm64 programs under qemu-user.
# -L gives qemu the cross toolchain's dynamic loader and libstdc++; the arm64 packages'
# libraries (libusb, libplist, libinih) are found in /usr/lib/aarch64-linux-gnu.
find_program(TETHER_QEMU_AARCH64 qemu-aarch64)
if(TETHER_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TETHER_QEMU_AARCH64} -L /usr/${TETHER_CROSS_TRIPLET})
elseif(NOT CMAKE_IN_TRY_COMPILE)
  # gtest_discover_tests runs each test program at build time to list its tests.
  message(WARNING "qemu-aarch64 not found (Debian: qemu-user): the test programs cannot be "
                  "run; build with -DTETHER_BUILD_TESTS=OFF or install qemu-user")
endif()
