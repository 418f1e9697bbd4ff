# IRSA_SANITIZE applies to every target of the build (libraries included), so that a sanitizer
# sees the whole program it can see: e.g. -DIRSA_SANITIZE=address,undefined or thread.
if(IRSA_SANITIZE)
  add_compile_options(-fsanitize=${IRSA_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${IRSA_SANITIZE})
  if(IRSA_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
