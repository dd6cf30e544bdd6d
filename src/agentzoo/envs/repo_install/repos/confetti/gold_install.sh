cp confetti.example.ini confetti.ini
mkdir -p var/cache
