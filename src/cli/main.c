#include <stdio.h>
int main(void)
{
	puts("lightsout");
	return 0;
}
