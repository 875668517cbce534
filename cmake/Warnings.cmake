# Warning set shared by every target; -Werror unless D01_WERROR is off.
function(d01_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-nonliteral)
  if(D01_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
