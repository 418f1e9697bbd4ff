# IRSA_SANITIZE applies to every target of the build (libraries included), so that a sanitizer
# sees the whole program it can see: e.g. -DIRSA_SANITIZE=address,undefined or thread.
if(IRSA_SANITIZE)
  add_compile_options(-fsanitize=${IRSA_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${IRSA_SANITIZE})
  if(IRSA_SANITIZE MATCHES "undefined")
    # Neither gcc nor clang puts float-cast-overflow in "undefined": converting a double outside
    # an integer's range is undefined behaviour, so it is asked for by name.
    add_compile_options(-fsanitize=float-cast-overflow
                        -fno-sanitize-recover=undefined,float-cast-overflow)
    add_link_options(-fsanitize=float-cast-overflow)
  endif()
endif()
