# Per-target warnings: irsa_target_warnings(<target>). -Werror only when IRSA_WERROR is on.
function(irsa_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast)
  if(IRSA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
