# D01_SANITIZE="address;undefined" instruments everything built after this.
if(D01_SANITIZE)
  string(REPLACE ";" "," _d01_san "${D01_SANITIZE}")
  add_compile_options(-fsanitize=${_d01_san} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_d01_san})
endif()
if(D01_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "D01_FUZZ needs clang (CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer)
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  add_link_options(-fsanitize=address,undefined)
endif()
