/* api-grant - give staff access to a case: re-encrypt its keys to the new team. */
#include "team.h"

int
main(int argc, char **argv)
{
	return team_main(argc, argv, 0);
}
